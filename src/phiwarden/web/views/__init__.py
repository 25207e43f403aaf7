"""Server-rendered pages (Jinja2, no JavaScript build): sign-in, dashboard, queues, details."""
