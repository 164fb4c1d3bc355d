"""Quality measurement: ``optimize`` (the Gatys et al. method, the slow reference),
``metrics`` (content, style and Gram losses, SSIM on one VGG) and ``evaluate`` (which
results to score, the alpha sweep and the reports of ``adain eval``)."""
