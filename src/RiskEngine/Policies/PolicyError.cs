namespace RiskEngine.Policies;

/// <summary>One problem in a policy file: where it is and why it is refused.</summary>
/// <param name="File">The policy file (or source name).</param>
/// <param name="Path">JSON path of the offending value, e.g. <c>$.assets.USD.daily</c>.</param>
/// <param name="Message">Why it is refused.</param>
public sealed record PolicyError(string File, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}: {Path}: {Message}";
}

/// <summary>A policy that could not be loaded. The message lists every error with file, JSON path and reason.</summary>
public sealed class PolicyValidationException : Exception
{
    /// <summary>Creates the exception from the errors found.</summary>
    public PolicyValidationException(IReadOnlyList<PolicyError> errors)
        : base("invalid policy:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  " + e)))
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public PolicyValidationException(string message) : base(message) => Errors = [];

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public PolicyValidationException(string message, Exception innerException) : base(message, innerException) => Errors = [];

    /// <summary>Creates an empty exception.</summary>
    public PolicyValidationException() => Errors = [];

    /// <summary>Every error found.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }
}
