"""What runs where and when: blocks, the local stack, deployment helpers."""
