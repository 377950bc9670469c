// ZeroShot
