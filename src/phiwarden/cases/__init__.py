"""Casework: cases run by procedures kept as data (states, guards, tasks, timers), with
their history, documents and outbox. Importing the package registers the built-in
effects the procedure files name."""

from phiwarden.cases import documents as documents
from phiwarden.cases import investigation_effects as investigation_effects
from phiwarden.cases import separation as separation
from phiwarden.cases import theft_effects as theft_effects
