"""The broker: request handlers (one module per API), partitions and their logs.

A request arrives as a frame from :mod:`odradek.node.network`; :mod:`.dispatch`
decodes its header, checks the API and version against :mod:`.apis` (the registry
every handler module adds itself to) and calls the handler with a
:class:`.context.RequestContext`. ApiVersions is answered from the same registry, so
what the broker advertises is exactly what it implements.
"""
