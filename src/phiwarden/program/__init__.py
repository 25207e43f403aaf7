"""The privacy program: investigations and what follows them (sanctions, breach decision,
corrective actions), and the program's administration (board report, training roster,
service providers, review log, dashboard)."""
