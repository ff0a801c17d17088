"""Band shapes in cm⁻¹ as pure, vectorised functions (area-normalised: ``amplitude`` is the area).

Conventions follow :mod:`lmfit.lineshapes` so that results can be compared with lmfit models:
``pseudo_voigt`` is lmfit's ``pvoigt`` (``sigma`` is the half width at half maximum of both the
Gaussian and the Lorentzian part, FWHM = 2σ); ``voigt`` is lmfit's ``voigt`` (Gaussian σ and
Lorentzian γ). Every function broadcasts: ``x`` of shape (n,) with parameters of shape (k, 1)
gives (k, n).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import wofz

__all__ = ["pseudo_voigt", "pseudo_voigt_partials", "voigt", "SHAPES", "TINY"]

#: Guard for divisions by widths.
TINY = 1.0e-15
_LN2 = math.log(2.0)
_S2LN2 = math.sqrt(2.0 * _LN2)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _gauss_lorentz(x, center, sigma):
    s = np.maximum(sigma, TINY)
    d = x - center
    sg = s / _S2LN2
    g = np.exp(-0.5 * (d / sg) ** 2) / (sg * _SQRT2PI)
    den = d * d + s * s
    lor = s / (math.pi * den)
    return d, s, sg, g, lor, den


def pseudo_voigt(x, amplitude=1.0, center=0.0, sigma=1.0, fraction=0.5):
    """Area-normalised pseudo-Voigt: ``A[(1-η)G + ηL]`` with common FWHM ``2σ``."""
    _, _, _, g, lor, _ = _gauss_lorentz(x, center, sigma)
    return amplitude * ((1.0 - fraction) * g + fraction * lor)


def pseudo_voigt_partials(x, amplitude=1.0, center=0.0, sigma=1.0, fraction=0.5):
    """Analytic partial derivatives of :func:`pseudo_voigt`.

    Returns
    -------
    tuple of ndarray
        ``(∂/∂amplitude, ∂/∂center, ∂/∂sigma, ∂/∂fraction)``, each broadcast like the value.
    """
    d, s, sg, g, lor, den = _gauss_lorentz(x, center, sigma)
    eta = fraction
    d_amp = (1.0 - eta) * g + eta * lor
    d_center = amplitude * ((1.0 - eta) * g * d / (sg * sg) + eta * lor * 2.0 * d / den)
    d_sigma = amplitude * ((1.0 - eta) * g * ((d / sg) ** 2 - 1.0) / s
                           + eta * (d * d - s * s) / (math.pi * den * den))
    d_fraction = amplitude * (lor - g)
    return d_amp, d_center, d_sigma, d_fraction


def voigt(x, amplitude=1.0, center=0.0, sigma=1.0, gamma=1.0):
    """Area-normalised Voigt profile (lmfit's ``voigt``; Gaussian σ, Lorentzian HWHM γ)."""
    s = np.maximum(sigma, TINY) * math.sqrt(2.0)
    z = (x - center + 1j * gamma) / s
    return amplitude * wofz(z).real / (s * math.sqrt(math.pi))


#: Registry of band shapes by name.
SHAPES = {"pseudo_voigt": pseudo_voigt, "voigt": voigt}
