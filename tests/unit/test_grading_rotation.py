"""The grader turns every embedding it hands to student code by one random orthogonal map per grading run
(autograder.grade.rotate): pictures and texts must be turned by the same map, or cosines mean nothing."""

import threading

import numpy as np

from autograder import grade


def test_threads_starting_a_class_at_once_share_one_rotation(monkeypatch):
    """Class grading starts several threads together. A slow first draw (made slow here) must not let two of them
    draw two maps: once a map was drawn twice, and the reference solution's QUERY was graded wrong."""
    grade._draw_rotation.cache_clear()
    draw = np.random.default_rng
    started = threading.Barrier(6)

    def slow_rng(seed):
        threading.Event().wait(0.05)
        return draw(seed)

    monkeypatch.setattr(grade.np.random, "default_rng", slow_rng)
    results = []

    def first_call():
        started.wait()
        results.append(grade.random_rotation())

    threads = [threading.Thread(target=first_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grade._draw_rotation.cache_clear()
    assert len(results) == 6 and all(result is results[0] for result in results)


def test_the_rotation_keeps_every_cosine():
    rng = np.random.default_rng(0)
    images, texts = rng.normal(size=(20, 512)), rng.normal(size=(3, 512))
    before = texts @ images.T
    assert np.allclose(grade.rotate(texts) @ grade.rotate(images).T, before, atol=1e-3)
