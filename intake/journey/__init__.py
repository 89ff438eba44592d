"""The patient journey: question pages, drafts, check your answers, submission and confirmation."""
