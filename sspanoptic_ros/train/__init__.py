# Copyright 2026 The sspanoptic_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Joint training of the SSPS network: losses, the training loop and its command line."""
