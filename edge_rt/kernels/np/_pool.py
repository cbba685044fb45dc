# Tap-by-tap views shared by the numpy pooling kernels: instead of staging a padded copy,
# each filter tap (ky, kx) touches a rectangle of outputs whose input samples all lie
# inside the image, so padded taps are skipped exactly as the reference skips them.


def _ceil_div(a, b):
    return -((-a) // b)


def tap_range(out_size, in_size, stride, pad, k):
    """(o0, o1, i0): for filter tap k, outputs o in [o0, o1) read input i0 + (o - o0) * stride,
    and every other output's tap k falls in the padding."""
    o0 = max(0, _ceil_div(pad - k, stride))
    o1 = min(out_size, _ceil_div(in_size + pad - k, stride))
    return o0, o1, o0 * stride - pad + k


def tap_views(x, y_like, params):
    """[(dst, src)] for every filter tap with at least one valid output: dst a view of
    y_like (N, OH, OW, C), src the matching strided view of x (N, H, W, C)."""
    sh, sw, fh, fw, pt, pl = params[:6]
    _, h, w, _ = x.shape
    _, oh, ow, _ = y_like.shape
    pairs = []
    for ky in range(fh):
        y0, y1, iy = tap_range(oh, h, sh, pt, ky)
        if y0 >= y1:
            continue
        for kx in range(fw):
            x0, x1, ix = tap_range(ow, w, sw, pl, kx)
            if x0 >= x1:
                continue
            src = x[:, iy:iy + (y1 - y0 - 1) * sh + 1:sh, ix:ix + (x1 - x0 - 1) * sw + 1:sw, :]
            pairs.append((y_like[:, y0:y1, x0:x1, :], src))
    return pairs
