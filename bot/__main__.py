"""``python -m bot`` does what the ``commemoration-bot`` console script does."""

from bot.cli import main

main()
