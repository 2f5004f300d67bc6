from zfjl.cli.app import run

run()
