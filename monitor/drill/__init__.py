"""Drills (应急演练): a marked synthetic story played through the real pipeline of a running
deployment, timed from its storing to the duty officer's acknowledgement.

- play.py: read the story (the replay timeline format), store it as the fetch stage stores what
  it fetched, and the one step the drill takes itself (raising the event by hand when the
  deployment's levels.yaml grades the story below the drill's level), which the pipeline's
  leader runs after grading.
- report.py: how far the drill got and how long each step took, read from the database alone, so
  a drill survives a kill -9 of whoever started it.

Why the story is stored rather than served by a local outlet and fetched: the fetch stage's
guard refuses loopback addresses on purpose (a drill must not need it opened), the command that
starts a drill may run on another host than the workers, and the fetch step is watched already
(/readyz's fetch lag). What a drill exercises is everything after it: analysis, grouping,
grading, routing, the chat channels and the people on duty.
"""

from monitor.drill.play import DRILL_LEVELS, DrillStory, advance, advance_recent, load_story, start_drill
from monitor.drill.report import drill_report

__all__ = ["DRILL_LEVELS", "DrillStory", "advance", "advance_recent", "drill_report", "load_story", "start_drill"]
