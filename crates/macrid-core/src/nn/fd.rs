//! The finite-difference check shared by the tests of every `nn` module: an analytic gradient against
//! the central difference `(L(θ + ε) − L(θ − ε)) / 2ε` of a loss computed straight from the formulas.

use crate::rng::Xoshiro256;

/// `n` uniform draws in `[−s, s)`.
pub fn rand(rng: &mut Xoshiro256, n: usize, s: f32) -> Vec<f32> {
    (0..n)
        .map(|_| (rng.next_f64() as f32 * 2.0 - 1.0) * s)
        .collect()
}

/// A test's state whose parameters are perturbed by index (`which`).
pub trait Params {
    fn param(&mut self, which: usize) -> &mut [f32];
}

/// Parameters as a list of vectors (`which` indexes the list).
impl Params for Vec<Vec<f32>> {
    fn param(&mut self, which: usize) -> &mut [f32] {
        &mut self[which]
    }
}

/// The finite difference's step, the tolerance and the factor the analytic gradient carries.
#[derive(Clone, Copy)]
pub struct Fd {
    /// Step `ε`.
    pub eps: f32,
    /// Largest accepted absolute difference.
    pub tol: f64,
    /// The analytic gradient is `scale · ∂L/∂θ` (e.g. the kernels' `grad_scale`).
    pub scale: f64,
}

/// Step 1e-3, tolerance 2e-3, no scale: what every `nn` test uses unless it says otherwise.
pub const FD: Fd = Fd {
    eps: 1e-3,
    tol: 2e-3,
    scale: 1.0,
};

impl Fd {
    /// Checks `grad[idx]`, for each `idx`, against the central difference of `loss` in element `idx`
    /// of parameter `which` of `state`; the parameter is restored afterwards.
    pub fn check<S: Params>(
        &self,
        state: &mut S,
        which: usize,
        name: &str,
        grad: &[f32],
        idxs: &[usize],
        loss: &dyn Fn(&S) -> f64,
    ) {
        for &idx in idxs {
            let orig = state.param(which)[idx];
            state.param(which)[idx] = orig + self.eps;
            let up = loss(state);
            state.param(which)[idx] = orig - self.eps;
            let down = loss(state);
            state.param(which)[idx] = orig;
            let n = self.scale * (up - down) / (2.0 * self.eps as f64);
            assert!(
                (grad[idx] as f64 - n).abs() < self.tol,
                "{}[{}] {} vs {}",
                name,
                idx,
                grad[idx],
                n
            );
        }
    }
}

/// `0..n` as indices (check every element).
pub fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}
