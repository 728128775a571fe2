"""Reports: the weekly report (figures.py computes it from storage, summary.py writes its opening
paragraph, render.py and charts.py turn it into HTML, PDF, XLSX, CSV or JSON, build.py does one week
end to end), the event brief (舆情研判报告: brief.py, brief_render.py, the optional rewrite in llm.py),
the post-incident review (review.py, with the playbook's deadlines in playbook.yaml) and the search
export. They read storage and the event grades; the reports stage (monitor/stages/reports.py) runs
them on schedule and queues the notice."""
