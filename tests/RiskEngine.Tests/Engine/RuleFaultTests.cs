using RiskEngine.Domain;
using RiskEngine.Events;
using RiskEngine.Rules;

namespace RiskEngine.Tests.Engine;

/// <summary>A rule that throws while firing fails its own fact only, alone or in a batch.</summary>
public sealed class RuleFaultTests
{
    private static TransactionFact Fact(string id) => new()
    {
        Attempt = new TransactionAttempt(EventId.Create(id), TestEngine.T0, AccountId.Create(id), Money.Create(1m, "USD"), CountryCode.Create("US"), DeviceId.Create("d")),
        Currency = "USD",
    };

    [Fact]
    public void A_single_fact_whose_firing_throws_is_reported_not_thrown()
    {
        var fact = Fact("a");
        var failed = PolicyRuleSet.FireIsolated([fact], _ => throw new InvalidOperationException("rule bug"), _ => throw new InvalidOperationException("rule bug"));
        Assert.IsType<InvalidOperationException>(Assert.Single(failed!).Value);
    }

    [Fact]
    public void In_a_batch_only_the_fact_whose_firing_throws_is_reported_and_the_others_keep_their_hits_alone()
    {
        var facts = new[] { Fact("a"), Fact("bad"), Fact("c") };
        var hit = new Decisions.RuleHit("R", "r.code", "m", Decisions.Outcome.Deny);
        var failed = PolicyRuleSet.FireIsolated(facts,
            all =>
            {
                foreach (var f in all) f.Add(hit); // a half-done batch: hits left behind
                throw new InvalidOperationException("rule bug");
            },
            one =>
            {
                if (((TransactionFact)one).Attempt.Id.Value == "bad") throw new InvalidOperationException("rule bug");
                one.Add(hit);
            });
        Assert.Equal([1], failed!.Keys);
        Assert.Single(facts[0].Hits); // cleared before firing alone: not doubled
        Assert.Single(facts[2].Hits);
    }

    [Fact]
    public void A_batch_that_fires_reports_nothing()
    {
        var policy = RiskEngine.Policies.PolicyLoader.LoadEmbeddedDefault();
        Assert.Null(PolicyRuleSet.Compile(policy).FireIsolated([Fact("a"), Fact("b")]));
    }
}
