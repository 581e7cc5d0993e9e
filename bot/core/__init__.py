"""The platform-neutral core: domain types, ports, services. Imports no SDK and no ORM."""
