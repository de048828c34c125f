/// How an SGD trainer turns gradients into steps.
public enum Optimizer: String, Sendable, CaseIterable { case sgd, adagrad, adam }
