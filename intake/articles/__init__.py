"""Educational articles: the Markdown library, matching to a patient's answers, and the pages."""
