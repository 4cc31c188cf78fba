# -*- coding: utf-8 -*-
# Copyright (c) quorum.etcd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Standard documentation fragment: the attributes every module of the collection documents.
    # A module states its support (and, in details, what it does) for each of them.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying the cluster.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
'''

    # Should be used together with the standard fragment, by the modules that only read.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - The module only reads.
  diff_mode:
    support: none
    details:
      - Nothing changes, so there is no diff.
'''

    # Should be used together with the standard fragment, by the modules that change something: check mode predicts
    # the change and diff mode shows it (each module says how in the attributes' details).
    CHECK_AND_DIFF = r'''
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
'''
