from zfjl.service.client import run

run()
