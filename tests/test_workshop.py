"""helpers.workshop: the notebook map and the headless course (``iot-audit workshop``) defined next to it."""
from __future__ import annotations

import pytest

from helpers import workshop
from helpers.errors import StepFailed, WorkshopError
from helpers.workshop import Step, course, course_summary, run_course

NOTEBOOK = "02-on-demand-audit.ipynb"


def test_every_course_step_names_a_notebook_of_the_map():
    files = [name for name, *_ in workshop.NOTEBOOKS]
    steps = course()
    assert len(steps) == 9 and all(step.notebook in files for step in steps)
    assert all((workshop.NOTEBOOKS_DIR / step.notebook).exists() for step in steps)
    order = [files.index(step.notebook) for step in steps]
    assert order == sorted(order), "the course follows the notebooks in order"


def test_a_course_stops_at_the_first_failed_step_and_keeps_stdout_clean(capsys):
    def noisy() -> str:
        print("helpers print in notebooks")
        return "done"

    def broken() -> str:
        raise WorkshopError("SNS is down.", "Try later.")

    steps = run_course([Step("first", NOTEBOOK, noisy), Step("second", NOTEBOOK, broken),
                        Step("third", NOTEBOOK, noisy)])
    assert [step.ok for step in steps] == [True, False, None]
    assert capsys.readouterr().out == ""
    summary = course_summary(steps, "sandbox, us-east-1").splitlines()
    assert summary == ["Workshop check (sandbox, us-east-1):", "  ✓ first: done",
                       "  ✗ second: SNS is down. — fix: Try later.", "  – third: not run",
                       "Stopped at step 'second'."]


@pytest.mark.parametrize("error,detail", [(StepFailed("3 checks, expected 2"), "3 checks, expected 2"),
                                          (KeyError("taskId"), "KeyError: 'taskId'")])
def test_a_failed_expectation_or_an_unexpected_error_is_reported(error, detail):
    def fail() -> str:
        raise error

    steps = run_course([Step("only", NOTEBOOK, fail)])
    assert (steps[0].ok, steps[0].detail) == (False, detail)
    assert course_summary(steps, "aws, eu-west-1").endswith("Stopped at step 'only'.")


def test_start_callback_counts_from_one():
    seen: list[tuple[int, str]] = []
    run_course([Step("a", NOTEBOOK, lambda: "x"), Step("b", NOTEBOOK, lambda: "y")],
               on_start=lambda i, step: seen.append((i, step.name)))
    assert seen == [(1, "a"), (2, "b")]
