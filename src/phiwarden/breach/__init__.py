"""Breach response: incidents recorded on the case engine, and (as the next issues add
them) the scoping of affected people, the legal decision and the notifications."""
