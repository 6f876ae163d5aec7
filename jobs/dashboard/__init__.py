"""The nubound page of the Dask dashboard (``/nubound``): a scan's progress and live limits.

- :mod:`.summary`: a store summarised into a small dict (progress, done map, limit curves);
- :mod:`.document`: the Bokeh document that draws a summary;
- :mod:`.plugin`: the scheduler plugin that serves the page and receives summaries;
- :mod:`.preload`: the preload module that loads the plugin when a scheduler starts;
- :mod:`.monitor`: the scan driver's monitor that summarises the store and pushes it.
"""
