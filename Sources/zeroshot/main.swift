print("zeroshot")
