"""Sequence-aware bidding: the auction environment, its hindsight oracle, classical bidders, evaluation.

``environment`` (episodes on the ad-funnel structural model, the second-price auction),
``oracle`` (the knapsack bound, pure functions of an episode's log), ``prediction`` (the values
bidders see), ``bidders`` (fixed, linear, PID pacing, dual gradient), ``evaluation`` (the
``bidding_evaluation`` table and its paired intervals).
"""
