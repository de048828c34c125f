import UnfoldData
import UnfoldMath
import UnfoldModels

/// Trains one kind of model. Each trainer lives in one file with its kind's link
/// (`TrainerRecipe`); the pipeline does the rest — reading, evaluation, neighbours,
/// metadata, the snapshot — the same way for every kind.
public protocol Trainer {
    /// Epochs (alternating iterations for WALS) it will run, for progress reports.
    var epochs: Int { get }
    /// Whether the objective has a place for a dislike (WALS: preference 0); the others
    /// train on `TrainingData.withoutDislikes`.
    var learnsDislikes: Bool { get }
    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel
}

extension Trainer {
    public var learnsDislikes: Bool { false }
}

/// The link from a kind's parameters (UnfoldModels, where the server can see them) to its
/// trainer (here): each trainer's file declares its parameters' conformance.
public protocol TrainerRecipe: ModelParameters {
    func makeTrainer() -> any Trainer
}

extension TrainingSpec {
    /// The trainer of this spec's kind.
    public func makeTrainer() throws -> any Trainer {
        guard let recipe = parameters as? any TrainerRecipe else { throw TrainingError("model kind '\(kind.name)' has no trainer in this build") }
        return recipe.makeTrainer()
    }
}
