"""The lower floor: pure ``@njit`` loop kernels on arrays.

Modules here hold functions only (no classes, no Python objects, no input
validation) and never import from the floors above.  Each operation has a
*reference* loop that transcribes the lecture's equation index for index and,
where speed matters, a *fast* loop kernel that the tests prove equal to it.
Public, validated entry points live in :mod:`numbacnn.signal` and
:mod:`numbacnn.functional`.
"""
