"""Citizens (issue 16): my data, who used it and why, rectification, data altruism and the
opt-out from secondary use. A citizen's account is linked to their national number by a
:class:`~datalux.citizens.models.CitizenIdentity`; every page reads only rows of that person."""
