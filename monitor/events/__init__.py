"""Events: items about the same story grouped, measured, and graded blue / yellow / orange / red.
Pure: items in, events and grades out; the stage in monitor/stages/events.py stores them."""
