# zfjl — the two set-up commands of the README, and the developer's checks.
#   make demo   generate a sample camera dump, ingest it into build/demo/vault, list it
#   make test   run the test suite
# Both install what is missing first (scripts/setup.sh).

ZFJL := .venv/bin/zfjl
DEMO := build/demo

.PHONY: setup demo test test-parallel timings lint bench clean

# Python keeps the bytecode it compiles (zfjl's and pytest's rewritten test modules): a shell
# exporting PYTHONDONTWRITEBYTECODE made every run, and every child of a test, compile them
# all again.
unexport PYTHONDONTWRITEBYTECODE

setup:
	@bash scripts/setup.sh

demo: setup
	rm -rf $(DEMO)
	$(ZFJL) sample $(DEMO)/DSJ01
	$(ZFJL) --vault $(DEMO)/vault init --bureau 株洲市城市管理和综合执法局
	$(ZFJL) --vault $(DEMO)/vault ingest $(DEMO)/DSJ01
	@echo "--- 再次入库同一存储卡：不应新增任何对象 ---"
	$(ZFJL) --vault $(DEMO)/vault ingest $(DEMO)/DSJ01
	$(ZFJL) --vault $(DEMO)/vault ls
	$(ZFJL) --vault $(DEMO)/vault verify
	@echo "--- 三个样例案件：入库其录像，导入案件，逐条检查 ---"
	$(ZFJL) sample --cases $(DEMO)/CASES
	$(ZFJL) --vault $(DEMO)/vault ingest $(DEMO)/CASES
	for c in penalty demolition licensing; do \
	  $(ZFJL) --vault $(DEMO)/vault case import zfjl/checklists/samples/$$c.yaml || exit 1; done
	$(ZFJL) --vault $(DEMO)/vault case ls
	@echo "--- 演示录像按 2024 年生成、今天才入库：第三十七条（2 个工作日内存储）应报违反，其余各条应符合 ---"
	-$(ZFJL) --vault $(DEMO)/vault check CASE-2024-045 --as-of 2024-09-02
	-$(ZFJL) --vault $(DEMO)/vault check --all --archived --as-of 2024-09-02
	@echo "--- 记录仪登记与维护、抽查（同一种子抽到同样的项目）、月度通报（HTML 与 PDF，含图表）---"
	$(ZFJL) --vault $(DEMO)/vault device add DSJ02 --unit 天元大队 --assigned-to 012345 --since 2024-01-01
	$(ZFJL) --vault $(DEMO)/vault device add DSJ03 --unit 天元大队 --since 2024-01-01
	$(ZFJL) --vault $(DEMO)/vault device log DSJ03 --event fault --note 无法开机 --at 2024-06-20
	$(ZFJL) --vault $(DEMO)/vault spotcheck draw --unit 天元大队 --period 2024-06 --n 2 --seed demo-2024-06
	$(ZFJL) --vault $(DEMO)/vault report --period 2024-06 -o $(DEMO)/通报-2024-06.html
	$(ZFJL) --vault $(DEMO)/vault report --period 2024-06 -o $(DEMO)/通报-2024-06.pdf
	@echo "--- 制作文书（PDF/A）与案件包（BagIt 1.0），并用三种工具校验 ---"
	$(ZFJL) --vault $(DEMO)/vault render CASE-2024-045 -o $(DEMO)/documents
	$(ZFJL) --vault $(DEMO)/vault bundle make CASE-2024-045 --purpose court --approval 株城管复〔2024〕7号 -o $(DEMO)/CASE-2024-045-court
	.venv/bin/bagit.py --validate $(DEMO)/CASE-2024-045-court
	cd $(DEMO)/CASE-2024-045-court && sha256sum -c --quiet manifest-sha256.txt && echo "sha256sum: OK"
	$(ZFJL) --vault $(DEMO)/vault bundle verify $(DEMO)/CASE-2024-045-court
	@echo "--- 保存与保管链：长期保存、预览一年后的拟销毁清册、签名检查点、未经批准的查阅被拒并记入日志 ---"
	$(ZFJL) --vault $(DEMO)/vault hold add CASE-2024-045 --reason dispute --note 当事人申请行政复议
	$(ZFJL) --vault $(DEMO)/vault sweep --as-of $$(date -d '+1 year' +%F) --pdf $(DEMO)/拟销毁清册.pdf
	$(ZFJL) --vault $(DEMO)/vault checkpoint make | tee $(DEMO)/checkpoint.txt
	-$(ZFJL) --vault $(DEMO)/vault view $$($(ZFJL) --vault $(DEMO)/vault ls --json --limit 1 | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	$(ZFJL) --vault $(DEMO)/vault log CASE-2024-045 --pdf $(DEMO)/保管日志.pdf | tail -4
	$(ZFJL) --vault $(DEMO)/vault checkpoint verify $(DEMO)/checkpoint.txt
	@echo "--- 再次打包：案件包证明其检查点延续了此前留存的检查点（法院可离线核对）---"
	$(ZFJL) --vault $(DEMO)/vault bundle make CASE-2024-045 --purpose court --approval 株城管复〔2024〕7号 -o $(DEMO)/CASE-2024-045-court-2
	$(ZFJL) bundle verify $(DEMO)/CASE-2024-045-court-2 --checkpoint $(DEMO)/checkpoint.txt

# The whole suite on three workers (pytest-xdist; on two cores the third fills the time the
# others wait; tests/conftest.py keeps each module whole on one worker, longest first; the
# OS-user modules spread like the others, each with users of its own). Beside
# it, tests/test_service.py runs again under Debian 12's own Python (3.11.2, what a station's
# /opt/zfjl gets; .venv-debian, made by setup when /usr/bin/python3 is not .venv's), with
# users of its own (zfjldeb_*): it sets a station up, serves, and runs the client as OS users
# (SO_PEERCRED, SCM_RIGHTS, subprocess as another user: what differs between Pythons); the
# identity and station-setup modules test logic over those same calls, so only the main run
# repeats them. Either run failing fails the target; the suite's summary is the last line.
# TESTS: what the main run runs (all by default), e.g. make test TESTS=tests/test_ingest.py
# WORKERS: pytest-xdist workers (3; `auto` = one per core; 0 = serial, in this process).
DEBIAN_TESTS := -m debian tests/test_service.py
TESTS :=
WORKERS := 3

test: setup
	@ZFJL_TEST=1 bash scripts/setup.sh
	@mkdir -p build; status=0; debian=; \
	if [ -x .venv-debian/bin/python ]; then \
	  ZFJL_TEST_USERS=zfjldeb .venv-debian/bin/python -m pytest -q -p no:cacheprovider $(DEBIAN_TESTS) \
	    >build/test-debian.log 2>&1 & debian=$$!; \
	fi; \
	{ .venv/bin/python -m pytest -q -n $(WORKERS) --dist loadgroup $(TESTS); \
	  echo $$? >build/test-status; } | tee build/test.log; \
	if [ -n "$$debian" ]; then \
	  echo "--- $$(.venv-debian/bin/python --version)（Debian 12 自带）：服务测试 ---"; \
	  if wait $$debian; then tail -n 1 build/test-debian.log; else cat build/test-debian.log; status=1; fi; \
	  echo "--- $$(.venv/bin/python --version)：全部测试 ---"; tail -n 1 build/test.log; \
	fi; \
	main=$$(cat build/test-status); [ "$$main" = 0 ] || exit $$main; \
	exit $$status

# The seconds each test module took in the last run (pytest's cache), kept in the repository:
# how a fresh clone (CI) orders the modules over the workers, longest first (tests/conftest.py).
timings:
	.venv/bin/python -c 'import json, os; d = json.load(open(".pytest_cache/v/zfjl/group-seconds")); \
	  print(json.dumps({k: round(v, 1) for k, v in sorted(d.items()) if os.path.exists(f"tests/{k}")}, indent=1))' \
	  >tests/group-seconds.json

# Kept for habit: the same as make test's main run.
test-parallel: setup
	.venv/bin/python -m pytest -q -n $(WORKERS) --dist loadgroup $(TESTS)

lint: setup
	.venv/bin/ruff check zfjl tests bench
	.venv/bin/mypy

bench: setup
	@ZFJL_BENCH=1 bash scripts/setup.sh
	.venv/bin/python bench/seal_bench.py
	.venv/bin/python bench/bundle_bench.py
	.venv/bin/python bench/ingest_bench.py
	.venv/bin/python bench/ship_bench.py

clean:
	rm -rf build .pytest_cache .ruff_cache .mypy_cache
