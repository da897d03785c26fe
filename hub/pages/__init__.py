"""Every HTML page the hub writes: one Jinja2 environment, one base layout, one stylesheet and
one chart module, shared by the offline reports and any page the hub serves."""
