"""Fetching: an outlet in, its items out. Polite HTTP (http.py: per-host limits, robots.txt,
Retry-After, a classified outcome; the private-network guard in guard.py), one outlet end to end
(outlet.py), and decoding and parsing of feeds, JSON feeds, list pages, articles and hot lists in a
process pool (parsing.py and the modules it runs). Nothing here touches storage: the crawl loop
that claims due outlets and stores what they gave is a stage (monitor/stages/crawl.py), and what
happens to a stored item next is the Pipeline's (monitor/stages/pipeline.py)."""
