"""Scheduled deliveries: what is due when (``occurrences``, ``planner``), the delivery ledger
workflow (``drain``), rate limits (``limiter``), rendering once per language (``render``), the
service that ties them (``service``) and the one APScheduler job (``ticker``).

Platform-neutral: no Telegram, Discord or SQLAlchemy import here; the SQL ledger is
``db/deliveries.py`` and the senders are the adapters'.
"""
