import Foundation
import UnfoldMath
import UnfoldModels

/// The step rules the SGD trainers apply to a block of parameters x with gradient g.
public enum Optimizers {
    /// Plain SGD: x ← x − η g.
    @inline(__always)
    public static func sgd(_ x: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, count: Int, rate: Float) {
        axpy(-rate, g, x, count)
    }

    /// Adagrad (Duchi et al. 2011): G ← G + g²; x ← x − η g / √(G + ε), sixteen at a time.
    @inline(__always)
    public static func adagrad(_ x: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, accumulator: UnsafeMutablePointer<Float>, count: Int, rate: Float) {
        let lr = SIMD16<Float>(repeating: rate), eps = SIMD16<Float>(repeating: 1e-8)
        let rg = UnsafeRawPointer(g), ra = UnsafeMutableRawPointer(accumulator), rx = UnsafeMutableRawPointer(x)
        var k = 0
        while k + 16 <= count {
            let gv = rg.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self)
            let av = ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self) + gv * gv
            ra.storeBytes(of: av, toByteOffset: k * 4, as: SIMD16<Float>.self)
            let xv = rx.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self) - lr * gv / (av + eps).squareRoot()
            rx.storeBytes(of: xv, toByteOffset: k * 4, as: SIMD16<Float>.self)
            k += 16
        }
        while k < count {
            accumulator[k] += g[k] * g[k]
            x[k] -= rate * g[k] / (accumulator[k] + 1e-8).squareRoot()
            k += 1
        }
    }

    /// Adam's bias correction folded into the rate for step t: η √(1 − β2ᵗ) / (1 − β1ᵗ).
    public static func adamRate(_ rate: Float, step t: Float) -> Float {
        rate * (1 - powf(adamBeta2, t)).squareRoot() / (1 - powf(adamBeta1, t))
    }

    public static let adamBeta1: Float = 0.9
    public static let adamBeta2: Float = 0.999

    /// Adam (Kingma & Ba 2015) with the rate from `adamRate`:
    ///
    ///     g ← scale·g + decay·x;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  x ← x − rate · m / (√v + ε)
    ///
    /// `clear` zeroes g afterwards (for gradients accumulated in place).
    @inline(__always)
    public static func adam(_ x: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, first m: UnsafeMutablePointer<Float>, second v: UnsafeMutablePointer<Float>,
                            count: Int, rate: Float, scale: Float = 1, decay: Float = 0, clear: Bool = false) {
        let b1 = adamBeta1, b2 = adamBeta2
        for k in 0..<count {
            let gk = g[k] * scale + decay * x[k]
            m[k] = b1 * m[k] + (1 - b1) * gk
            v[k] = b2 * v[k] + (1 - b2) * gk * gk
            x[k] -= rate * m[k] / (v[k].squareRoot() + 1e-8)
            if clear { g[k] = 0 }
        }
    }
}
