"""What was known when: indicator editions and evidence, cleaned and queried as of a date."""
