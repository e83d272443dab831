"""Graves and Willems (2000) example chains, in the Willems (2008) row layout.

Data of the bulldozer (Table 2 / Figure 4) and battery (Figure 6) examples of S. C. Graves and
S. P. Willems, "Optimizing strategic safety stock placement in supply chains", M&SOM 2(1),
2000, as transcribed in the layout of /work/shared/data/willems2008 (stage time, added
cost, demand and links); the published optima are 632,775 (bulldozer) and 853,077 (battery).
"""

from __future__ import annotations

HEADER = (
    "stage_id,lead_time,max_s_time,cost_rate,risk_pool,"
    "ext_demand_mean,ext_demand_std,ext_demand_thres,up_stages"
)

BULLDOZER = f"""{HEADER}
Boggie_Assembly,11,,575.0,2,,,,
Brake_Group,8,,3850.0,2,,,,
Case,15,,2200.0,2,,,,
Case&Frame,16,,1500.0,2,,,,Case,1,Frame_Assembly,1
Chassis&Platform,7,,4320.0,2,,,,Platform_Group,1,Fender_Group,1,Roll_Over_Group,1
Common_Subassembly,5,,8000.0,2,,,,Case&Frame,1,Transmission,1,Final_Drive&Brake,1
Dressed_Out_Engine,10,,4100.0,2,,,,Engine,1,Fans,1
Drive_Group,9,,1550.0,2,,,,
Engine,7,,4500.0,2,,,
Fans,12,,650.0,2,,,,
Fender_Group,9,,900.0,2,,,,
Final_Assembly,4,0,8000.0,,5,3,1.645,Main_Assembly,1,Track_Roller_Frame,1,Suspension_Group,1
Final_Drive&Brake,6,,3680.0,2,,,,Brake_Group,1,Drive_Group,1,Plant_Carrier,1
Frame_Assembly,19,,605.0,2,,,,
Main_Assembly,8,,12000.0,2,,,,Chassis&Platform,1,Common_Subassembly,1,Dressed_Out_Engine,1
Pin_Assembly,35,,90.0,2,,,,
Plant_Carrier,9,,155.0,2,,,,
Platform_Group,6,,725.0,2,,,,
Roll_Over_Group,8,,1150.0,2,,,,
Suspension_Group,7,,3600.0,2,,,,Boggie_Assembly,1,Pin_Assembly,1
Track_Roller_Frame,10,,3000.0,2,,,,
Transmission,15,,7450.0,2,,,,
"""

BATTERY = f"""{HEADER}
Bulk_Battery_Manufacturing,5,,0.07,2,,,,EMD,1,Spun_Zinc,1,Separator,1,Nail_Wire,1,Label,1,Other_Raw_Materials,1
Central_DC_A,6,0,0.02,,43422,67236,1.645,Pack_SKU_A,1
Central_DC_B,6,0,0.01,,16350,39552,1.645,Pack_SKU_B,1
Central_DC_C,4,0,0.01,,5536,11213,1.645,Pack_SKU_C,1
East_DC_A,4,0,0.0,,67226,109308,1.645,Pack_SKU_A,1
East_DC_B,4,0,0.01,,15765,34079,1.645,Pack_SKU_B,1
East_DC_C,4,0,0.01,,6416,14125,1.645,Pack_SKU_C,1
EMD,2,,0.13,2,,,,
Label,28,,0.06,2,,,,
Nail_Wire,24,,0.02,2,,,,
Other_Raw_Materials,1,,0.24,2,,,,
Pack_SKU_A,11,,0.07,2,,,,Bulk_Battery_Manufacturing,1,Packaging_A,1
Pack_SKU_B,11,,0.12,2,,,,Bulk_Battery_Manufacturing,1,Packaging_B,1
Pack_SKU_C,9,,0.24,2,,,,Bulk_Battery_Manufacturing,1,Packaging_C,1
Packaging_A,28,,0.16,2,,,,
Packaging_B,28,,0.24,2,,,,
Packaging_C,28,,0.36,2,,,,
Separator,2,,0.02,2,,,,
Spun_Zinc,2,,0.05,2,,,,
West_DC_A,5,0,0.01,,65638,119901,1.645,Pack_SKU_A,1
West_DC_B,8,0,0.03,,10597,23277,1.645,Pack_SKU_B,1
West_DC_C,6,0,0.06,,3519,6576,1.645,Pack_SKU_C,1
"""
