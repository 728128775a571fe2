"""Events: items about the same story grouped (cluster.py, stories.py), measured (spread.py,
hotsignal.py) and graded blue / yellow / orange / red (levels.py, levels.yaml). Pure: items in,
events and grades out; the grouping stage (monitor/stages/grouping.py) stores them. replay.py is the
exception by design: it plays a timeline through the real stages on a scratch database."""
