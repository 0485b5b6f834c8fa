"""Build-time helpers of `bench/make_calibration.py`: they read the shared data, never a user's installation."""
