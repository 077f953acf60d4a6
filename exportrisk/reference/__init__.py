"""Reference data every stage uses: country names, control codes, company entities, pseudonyms."""
