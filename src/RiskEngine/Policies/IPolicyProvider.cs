using RiskEngine.Rules;

namespace RiskEngine.Policies;

/// <summary>Supplies the compiled policy in force. Swapping is atomic: a decision uses one policy from start to end.</summary>
public interface IPolicyProvider
{
    /// <summary>The compiled policy in force.</summary>
    PolicyRuleSet Current { get; }

    /// <summary>Compiles <paramref name="policy"/> and puts it in force.</summary>
    void Swap(RiskPolicy policy);
}

/// <summary>Holds the compiled policy; replaced whole by <see cref="Swap"/>.</summary>
public sealed class PolicyHolder : IPolicyProvider
{
    private PolicyRuleSet _current;

    /// <summary>Compiles and holds <paramref name="policy"/>.</summary>
    public PolicyHolder(RiskPolicy policy) => _current = PolicyRuleSet.Compile(policy);

    /// <inheritdoc />
    public PolicyRuleSet Current => Volatile.Read(ref _current);

    /// <inheritdoc />
    public void Swap(RiskPolicy policy)
    {
        var compiled = PolicyRuleSet.Compile(policy); // compile outside the swap so decisions never wait for it
        Volatile.Write(ref _current, compiled);
    }
}
