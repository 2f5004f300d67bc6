from zfjl.cli import run

run()
