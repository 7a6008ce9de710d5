"""Build and maintenance scripts, each run from the repository root as `python -m tools.<name>`.

- build_images: rebuild the course pictures and images/MANIFEST.csv from pinned open-licensed sources.
- train_mini: train the offline `mini` CLIP into models/mini (`--check`: retrain and compare).
- build_coyo_sample: rebuild data/coyo-sample, the COYO-700M sample of lecture 06 (`--check`: compare).
- make_quiz_skeleton: make quizzes/quiz_search.py from solutions/quiz_search.py (`--check`: compare).
- make_student_edition: what students get, without answers (`make student-edition`; files in student_edition/).
- check_hidden_queries: each hidden query's top-1 and its margin with the grading model, before a term.
"""
