"""Fetching: outlets in, items stored. The crawl loop (scheduler.py: due outlets claimed with a
lease), polite HTTP (http.py: per-host limits, robots.txt, Retry-After, a classified outcome; the
private-network guard in guard.py), one outlet end to end (outlet.py), and decoding and parsing of
feeds, JSON feeds, list pages, articles and hot lists in a process pool (parsing.py and the modules
it runs). What happens to a stored item next is the Pipeline's (monitor/stages/pipeline.py)."""
