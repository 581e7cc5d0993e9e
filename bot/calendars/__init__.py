"""Calendars: events as iCalendar (RFC 5545) files and feeds, platform-neutral, no network.

``ics`` turns events into ``.ics`` bytes with the ``icalendar`` library; ``feed`` picks the
events a feed holds (upcoming, published, filtered by country, town or memorial) and fills in
the place of an event held at a memorial.
"""
