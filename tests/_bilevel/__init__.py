# Authors: The sklearn_relaxpen developers
# SPDX-License-Identifier: BSD-3-Clause
