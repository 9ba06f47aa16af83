# The two commands of the README. Both install what is missing first (Debian packages, .venv, node_modules)
# and start a project-local PostgreSQL in .local/ when DATABASE_URL is not set.
.PHONY: demo test setup migrate db-start db-stop bench

demo:            ## set up, load the demo city if absent, serve the portal on http://127.0.0.1:8000
	@./run demo

test:            ## set up, run the whole test suite
	@./run test $(ARGS)

setup:
	@bash scripts/setup.sh --with-browser

migrate:         ## set up and create the schema in an empty database (to load your own city instead of the demo)
	@bash scripts/setup.sh && ./run secret >/dev/null && bash scripts/manage.sh migrate

db-start:
	@bash scripts/localdb.sh start

db-stop:
	@bash scripts/localdb.sh stop

bench:           ## every benchmark (PARCELS=30000,100000,1000000; each generates and loads its own demo city)
	@bash scripts/setup.sh && export DATABASE_URL=$${DATABASE_URL:-$$(bash scripts/localdb.sh start)} && \
	  .venv/bin/python bench/import_parcels.py --parcels $${PARCELS:-30000,100000} && \
	  for n in $$(echo $${PARCELS:-30000,100000} | tr , ' '); do \
	    for b in tiles map_click exports oapif assessment zoning notices; do .venv/bin/python bench/$$b.py --parcels $$n || exit 1; done; \
	  done && .venv/bin/python bench/first_paint.py
