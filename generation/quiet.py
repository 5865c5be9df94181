"""Keep diffusers' and transformers' own progress bars off the user's terminal."""


def quiet_hub_output() -> None:
    """They print a bar per component loaded or saved; adreel logs and shows its own."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
