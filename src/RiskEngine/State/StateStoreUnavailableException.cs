namespace RiskEngine.State;

/// <summary>
/// A state store cannot be reached (network, timeout, server down). The engine answers with the configured
/// <see cref="RiskEngineOptions.WhenStoreUnavailable"/> outcome (deny by default: fail closed) instead of throwing;
/// workers pause and retry instead of publishing such answers.
/// </summary>
public sealed class StateStoreUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StateStoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public StateStoreUnavailableException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the store client's exception.</summary>
    public StateStoreUnavailableException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
