r"""AdamAL, from 'A new perspective in understanding of Adam-type algorithms' (Algorithm 1).

    m_t = beta1 m_{t-1} + (1 - beta1) g_t
    v_t = beta2 v_{t-1} + (1 - beta2) max(g_t^2, v_{t-1})
    p_t = p_{t-1} - lr/(1-beta1^t) * m_t / (sqrt(v_t)/sqrt(1-beta2^t) + eps)

Algorithm 1 of the paper writes beta1 in the v line; we read that as a typo for beta2 (the v
line of every Adam-type method uses beta2, and with beta1 the paper's own analysis of v would not
hold). Because max(g_t^2, v_{t-1}) >= v_{t-1}, v_t >= v_{t-1}: the second moment never decreases,
like AMSGrad's running max but without keeping a second buffer. It is computed in the equal form
v_t = max(v_{t-1}, beta2 v_{t-1} + (1 - beta2) g_t^2), which keeps that true in floating point
(the literal form can round beta2 v + (1 - beta2) v one ulp below v when g_t = 0). Adam's bias corrections apply to
both moments; weight decay as in Adam (coupled L2, or decoupled AdamW-style).

The update is the Adam family's functional core, ``adam.adam_family_update`` with
``second_moment="max-ema"`` (the reference path); the fast paths are ``adam.native_adamal_update``
(CPU kernel) and ``_triton.adamal_update`` (CUDA), the same formulas in one pass.
"""

from __future__ import annotations

from .adam import _AdamFamily


class AdamAL(_AdamFamily):
    __doc__ = __doc__
    second_moment = "max-ema"
