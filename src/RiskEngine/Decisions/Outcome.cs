namespace RiskEngine.Decisions;

/// <summary>What RiskEngine decides for an attempt. Ordered by severity: a higher value wins when rules disagree.</summary>
public enum Outcome
{
    /// <summary>Let the attempt through.</summary>
    Allow = 0,

    /// <summary>Ask the user for a TOTP code, then retry the attempt with <c>authenticated: "totp"</c>.</summary>
    Challenge = 1,

    /// <summary>Refuse this attempt; the account stays usable.</summary>
    Deny = 2,

    /// <summary>Refuse this attempt and freeze the account until support, self-service or a cool-down lifts it.</summary>
    Freeze = 3,
}

/// <summary>Wire names of <see cref="Outcome"/>.</summary>
public static class OutcomeNames
{
    /// <summary>The contract's lower-case name: <c>allow</c>, <c>challenge</c>, <c>deny</c>, <c>freeze</c>.</summary>
    public static string ToWire(this Outcome outcome) => outcome switch
    {
        Outcome.Allow => "allow",
        Outcome.Challenge => "challenge",
        Outcome.Deny => "deny",
        Outcome.Freeze => "freeze",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    /// <summary>Parses a contract name; false for anything else.</summary>
    public static bool TryParse(string? value, out Outcome outcome)
    {
        switch (value)
        {
            case "allow": outcome = Outcome.Allow; return true;
            case "challenge": outcome = Outcome.Challenge; return true;
            case "deny": outcome = Outcome.Deny; return true;
            case "freeze": outcome = Outcome.Freeze; return true;
            default: outcome = default; return false;
        }
    }
}
